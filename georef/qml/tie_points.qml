<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Default style of the tie_points layer (QGIS 3.22). Inliers blue, outliers red; each point carries an
     arrow along its residual vector (residual_dx, residual_dy: fit prediction minus truth, map units),
     lengthened __EXAGGERATION__ times so that residuals of a few metres show at the scale of a scene. -->
<qgis styleCategories="Symbology" version="3.22.16-Białowieża">
 <renderer-v2 type="categorizedSymbol" attr="inlier" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
  <categories>
   <category value="true" label="inlier" symbol="0" render="true"/>
   <category value="false" label="outlier" symbol="1" render="true"/>
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="GeometryGenerator" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="SymbolType" value="Line"/>
      <Option type="QString" name="geometryModifier" value="make_line($geometry, translate($geometry, __EXAGGERATION__ * &quot;residual_dx&quot;, __EXAGGERATION__ * &quot;residual_dy&quot;))"/>
      <Option type="QString" name="units" value="MapUnit"/>
     </Option>
     <symbol type="line" name="@0@0" alpha="1" clip_to_extent="1" force_rhr="0">
      <layer class="ArrowLine" pass="0" locked="0" enabled="1">
       <Option type="Map">
        <Option type="QString" name="arrow_start_width" value="0.4"/>
        <Option type="QString" name="arrow_start_width_unit" value="MM"/>
        <Option type="QString" name="arrow_type" value="0"/>
        <Option type="QString" name="arrow_width" value="0.4"/>
        <Option type="QString" name="arrow_width_unit" value="MM"/>
        <Option type="QString" name="head_length" value="1.8"/>
        <Option type="QString" name="head_length_unit" value="MM"/>
        <Option type="QString" name="head_thickness" value="1.2"/>
        <Option type="QString" name="head_thickness_unit" value="MM"/>
        <Option type="QString" name="head_type" value="0"/>
        <Option type="QString" name="is_curved" value="0"/>
        <Option type="QString" name="is_repeated" value="0"/>
       </Option>
       <symbol type="fill" name="@@0@0@0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
         <Option type="Map">
          <Option type="QString" name="color" value="31,120,180,255"/>
          <Option type="QString" name="outline_color" value="255,255,255,255"/>
          <Option type="QString" name="outline_style" value="solid"/>
          <Option type="QString" name="outline_width" value="0.1"/>
          <Option type="QString" name="outline_width_unit" value="MM"/>
          <Option type="QString" name="style" value="solid"/>
         </Option>
        </layer>
       </symbol>
      </layer>
     </symbol>
    </layer>
    <layer class="SimpleMarker" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="color" value="31,120,180,255"/>
      <Option type="QString" name="name" value="circle"/>
      <Option type="QString" name="outline_color" value="255,255,255,255"/>
      <Option type="QString" name="outline_style" value="solid"/>
      <Option type="QString" name="outline_width" value="0.3"/>
      <Option type="QString" name="outline_width_unit" value="MM"/>
      <Option type="QString" name="size" value="2"/>
      <Option type="QString" name="size_unit" value="MM"/>
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="GeometryGenerator" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="SymbolType" value="Line"/>
      <Option type="QString" name="geometryModifier" value="make_line($geometry, translate($geometry, __EXAGGERATION__ * &quot;residual_dx&quot;, __EXAGGERATION__ * &quot;residual_dy&quot;))"/>
      <Option type="QString" name="units" value="MapUnit"/>
     </Option>
     <symbol type="line" name="@1@0" alpha="1" clip_to_extent="1" force_rhr="0">
      <layer class="ArrowLine" pass="0" locked="0" enabled="1">
       <Option type="Map">
        <Option type="QString" name="arrow_start_width" value="0.4"/>
        <Option type="QString" name="arrow_start_width_unit" value="MM"/>
        <Option type="QString" name="arrow_type" value="0"/>
        <Option type="QString" name="arrow_width" value="0.4"/>
        <Option type="QString" name="arrow_width_unit" value="MM"/>
        <Option type="QString" name="head_length" value="1.8"/>
        <Option type="QString" name="head_length_unit" value="MM"/>
        <Option type="QString" name="head_thickness" value="1.2"/>
        <Option type="QString" name="head_thickness_unit" value="MM"/>
        <Option type="QString" name="head_type" value="0"/>
        <Option type="QString" name="is_curved" value="0"/>
        <Option type="QString" name="is_repeated" value="0"/>
       </Option>
       <symbol type="fill" name="@@1@0@0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
         <Option type="Map">
          <Option type="QString" name="color" value="227,26,28,255"/>
          <Option type="QString" name="outline_color" value="255,255,255,255"/>
          <Option type="QString" name="outline_style" value="solid"/>
          <Option type="QString" name="outline_width" value="0.1"/>
          <Option type="QString" name="outline_width_unit" value="MM"/>
          <Option type="QString" name="style" value="solid"/>
         </Option>
        </layer>
       </symbol>
      </layer>
     </symbol>
    </layer>
    <layer class="SimpleMarker" pass="0" locked="0" enabled="1">
     <Option type="Map">
      <Option type="QString" name="color" value="227,26,28,255"/>
      <Option type="QString" name="name" value="circle"/>
      <Option type="QString" name="outline_color" value="255,255,255,255"/>
      <Option type="QString" name="outline_style" value="solid"/>
      <Option type="QString" name="outline_width" value="0.3"/>
      <Option type="QString" name="outline_width_unit" value="MM"/>
      <Option type="QString" name="size" value="2"/>
      <Option type="QString" name="size_unit" value="MM"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>0</layerGeometryType>
</qgis>
